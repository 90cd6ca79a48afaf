"""Sends a command through a redis-py client's connection and returns the
reply as parsed by the protocol layer only, without redis-py's per-command
response callbacks (which turn `PING hi` into True and the like)."""


def raw(client, *args):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        reply = conn.read_response()
        if isinstance(reply, Exception):
            raise reply
        return reply
    finally:
        client.connection_pool.release(conn)
