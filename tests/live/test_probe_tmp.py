from workspace.realtime import NAMESPACE


def test_probe(world, connect):
    a = connect(world.delegate)
    b = connect(world.delegate2)
    print("unknown", a.emit("nope.nothing", {"x": 1}, namespace=NAMESPACE, callback=True))
    try:
        print("two args", a.emit("join", {"tavolo_id": world.tavolo.id}, 5, namespace=NAMESPACE, callback=True))
    except Exception as e:
        print("two args raised", type(e), e)
    print("none", a.emit("join", namespace=NAMESPACE, callback=True))
    print("float", a.emit("join", {"tavolo_id": float(world.tavolo.id)}, namespace=NAMESPACE, callback=True)["mode"])
    print(a.is_connected(NAMESPACE), b.is_connected(NAMESPACE))
