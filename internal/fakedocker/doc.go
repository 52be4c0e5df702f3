// Package fakedocker is a fake Docker Engine API for tests: an HTTP server
// on a unix socket that the real Docker client
// (github.com/docker/docker/client) talks to, with state the test changes
// and faults a real daemon cannot be made to produce on demand.
//
// It exists for what a real daemon makes slow or impossible: unit tests of
// the watch loop in milliseconds, scale runs with 10,000 containers,
// dropped or stuck event streams, failing endpoints, Swarm managers without
// a Swarm, and Podman's quirks. TestFakeMatchesRealDaemon (not under
// -short) runs one container lifecycle on a real Docker daemon and on the
// fake and requires the same events.
//
// The state uses the API's own types (container.InspectResponse,
// swarm.Service, swarm.Task, swarm.Node, events.Message), so the code under
// test reads exactly what a Docker 20.10 daemon sends, and the helpers emit
// the events such a daemon would: Add sends "create", network "connect" and
// "start"; Stop sends "kill", "die", network "disconnect" and "stop"; and so
// on. Served (every path also with a /vX.Y prefix): /_ping, /version,
// /info, /containers/json (filters status, label, name, id, network,
// health, exited, ancestor, is-task), /containers/{id}/json, the container
// actions kill, start, stop, restart, pause, unpause, rename and DELETE,
// /networks/{id}/connect and disconnect, exec create/start (attached or
// detached)/inspect, /events (since, until, filters), /services,
// /services/{id}, /tasks, /tasks/{id}, /nodes and /nodes/{id}. The Route
// constants name them.
//
// Typical use:
//
//	func TestWatchSeesStart(t *testing.T) {
//		// A fake engine: the watch loop's reaction to one event is the subject.
//		e := fakedocker.New(t)
//		cli := e.Client(t) // or DOCKER_HOST=e.Host()
//
//		web := e.Add(fakedocker.ContainerSpec{
//			Name: "web",
//			Env:  []string{"RPROXY=http://app.example.com"},
//		})
//		ctx, cancel := context.WithCancel(context.Background())
//		defer cancel()
//		msgs, errs := cli.Events(ctx, events.ListOptions{})
//
//		e.Stop(web.ID) // kill, die, disconnect, stop
//		e.Start("web") // connect, start
//		e.DropEvents() // errs now reports io.EOF
//		...
//		if n := e.Inspections(web.ID); n != 1 { ... }
//	}
//
// Faults: Fail/FailN answer an error status on a path prefix, Hang holds
// requests until Heal, SetLatency slows every request, DropEvents ends the
// event streams, EmitRaw garbles them. Counters (Requests, Inspections)
// let a test assert how much the code under test asked.
//
// Helpers that change state fail the test (t.Fatal) on misuse, so call them
// from the test goroutine; an Engine made with Start panics instead.
package fakedocker
