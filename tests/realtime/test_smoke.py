from workspace.realtime import NAMESPACE


def test_create_bisogno_reaches_other_member(world, connect):
    a = connect(world.delegate)
    b = connect(world.delegate2)
    assert a.is_connected(NAMESPACE) and b.is_connected(NAMESPACE)
    ja = a.emit("join", {"tavolo_id": world.tavolo.id}, namespace=NAMESPACE, callback=True)
    jb = b.emit("join", {"tavolo_id": world.tavolo.id}, namespace=NAMESPACE, callback=True)
    assert ja["ok"] and jb["ok"], (ja, jb)
    b.get_received(NAMESPACE)
    ack = a.emit("bisogno.create", {"op_id": "op-00000001", "tavolo_id": world.tavolo.id, "title": "Casa",
                                    "macroarea": "E"}, namespace=NAMESPACE, callback=True)
    assert ack["ok"], ack
    got = [m for m in b.get_received(NAMESPACE) if m["name"] == "event"]
    assert got and got[0]["args"][0]["kind"] == "bisogno.created"
