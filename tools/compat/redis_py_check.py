"""Drives a running `rankengine serve` with redis-py (Debian's python3-redis) at its default settings.

Run by the .NET compatibility tests under /usr/bin/python3:  python3 tools/compat/redis_py_check.py PORT TOKEN
Prints "redis-py <version> ok"; any mismatch raises (exit code 1) with what differed.
"""
import os
import sys

import redis


def pairs(reply):
    """A RESP2 map reply (flat list) as a dict with text keys."""
    return {reply[i].decode(): reply[i + 1] for i in range(0, len(reply), 2)}


def expect_error(fn, word):
    try:
        fn()
    except redis.exceptions.ResponseError as e:
        assert word in str(e), f"expected {word}, got {e}"
        return
    except redis.exceptions.AuthenticationError as e:  # redis-py maps NOAUTH to this
        assert word in str(e) or word == "NOAUTH", f"expected {word}, got {e}"
        return
    raise AssertionError(f"expected an error {word}")


def main():
    port, token = int(sys.argv[1]), sys.argv[2]
    uid = f"py-{os.getpid()}-"
    # db=0 and client_name make redis-py send SELECT 0 and CLIENT SETNAME during its handshake.
    r = redis.Redis(host="127.0.0.1", port=port, password=token, db=0, client_name="redis-py-check")
    assert r.ping() is True
    assert r.client_getname() == "redis-py-check"
    assert r.echo("hello") == b"hello"
    assert r.execute_command("ITEM.ADD", uid + "a", "a heist film in space", "FIELD", "year", "2024", "TAGS", "genres", "Sci-Fi|Crime") == b"OK"
    (blob,) = r.execute_command("ENCODE", "a quiet drama about a family")
    assert len(blob) > 0 and len(blob) % 4 == 0
    assert r.execute_command("ITEM.ADDVEC", uid + "b", blob, "STR", "genres", "Drama") == b"OK"
    item = pairs(r.execute_command("ITEM.GET", uid + "a"))
    assert item["id"] == (uid + "a").encode() and item["text"] == b"a heist film in space", item
    assert r.execute_command("USER.EVENT", uid + "u", uid + "a", "like") == b"OK"
    user = pairs(r.execute_command("USER.GET", uid + "u"))
    assert [e[0] for e in user["events"]] == [(uid + "a").encode()], user
    ranked = pairs(r.execute_command("RANK", uid + "u", "K", "10", "CANDIDATES", "2", uid + "a", uid + "b"))
    assert sorted(i[0] for i in ranked["items"]) == [(uid + "a").encode(), (uid + "b").encode()], ranked
    assert ranked["strategy"] == b"personalized"
    scored = pairs(r.execute_command("SCORE", uid + "u", uid + "a", uid + "b"))
    assert len(scored["items"]) == 2
    # score = content + collab + boosts, exactly as the server computed it (shortest round-trip text of a float32)
    for _, score, content, collab, boosts in scored["items"]:
        assert abs(float(score) - (float(content) + float(collab) + float(boosts))) < 1e-5
    expect_error(lambda: r.execute_command("RANK", uid + "u", "K", "0"), "K")
    assert r.dbsize() >= 2
    assert r.save() is True  # redis-py turns +OK into True
    info = r.info("server")
    assert "rankengine_version" in info

    # Default pipeline: a MULTI/EXEC transaction.
    p = r.pipeline()
    p.echo("x")
    p.execute_command("USER.EVENT", uid + "u", uid + "b", "click")
    p.execute_command("ITEM.DEL", uid + "b")
    assert p.execute() == [b"x", b"OK", 1]
    assert len(pairs(r.execute_command("USER.GET", uid + "u"))[b"events".decode()]) == 2
    # Plain pipelining: 200 requests sent before reading.
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.echo(f"m{i}")
    assert p.execute() == [f"m{i}".encode() for i in range(200)]
    # A command refused while queuing aborts the transaction; nothing of it ran.
    p = r.pipeline()
    p.execute_command("ITEM.DEL", uid + "a")
    p.execute_command("NOSUCHVERB")
    expect_error(p.execute, "unknown command")  # redis-py reports the queuing error after EXECABORT
    assert r.execute_command("ITEM.DEL", uid + "a") == 1

    expect_error(lambda: redis.Redis(host="127.0.0.1", port=port, password=token, db=1).ping(), "DB index is out of range")
    expect_error(lambda: redis.Redis(host="127.0.0.1", port=port).dbsize(), "NOAUTH")
    expect_error(lambda: r.execute_command("HELLO", "4"), "NOPROTO")
    print(f"redis-py {redis.__version__} ok")


if __name__ == "__main__":
    main()
