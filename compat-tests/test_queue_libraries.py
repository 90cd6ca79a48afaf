"""Job-queue libraries run unchanged against Redis and Sluice: each
enqueues a job, a worker runs it, and the result comes back. rq and huey
keep their queues in lists, hashes, sets and sorted sets; dramatiq moves
messages with Lua scripts."""

import pytest

rq = pytest.importorskip("rq")
huey_mod = pytest.importorskip("huey")


def add(a, b):
    return a + b


def test_rq_enqueue_work_result(server):
    conn = server.client()
    conn.flushall()
    q = rq.Queue("default", connection=conn)
    job = q.enqueue(add, 2, 3)
    assert q.count == 1
    # SimpleWorker runs jobs in this process (no fork), burst: until empty.
    worker = rq.SimpleWorker([q], connection=conn)
    assert worker.work(burst=True)
    job.refresh()
    assert job.get_status() == rq.job.JobStatus.FINISHED
    assert job.return_value() == 5
    assert q.count == 0
    conn.close()


def test_huey_enqueue_execute_result(server):
    client = server.client()
    kwargs = client.connection_pool.connection_kwargs
    client.close()
    h = huey_mod.RedisHuey("compat", host=kwargs["host"], port=kwargs["port"])
    h.flush()

    @h.task()
    def mul(a, b):
        return a * b

    res = mul(6, 7)
    assert h.pending_count() == 1
    task = h.dequeue()
    h.execute(task)
    assert res.get() == 42
    assert h.pending_count() == 0


def test_dramatiq_send_work_result(server):
    """dramatiq enqueues and acknowledges through Lua scripts (EVALSHA):
    with scripting it runs unchanged too."""
    dramatiq = pytest.importorskip("dramatiq")
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.results import Results
    from dramatiq.results.backends import RedisBackend

    client = server.client()
    kwargs = client.connection_pool.connection_kwargs
    client.flushall()
    client.close()
    backend = RedisBackend(host=kwargs["host"], port=kwargs["port"])
    broker = RedisBroker(host=kwargs["host"], port=kwargs["port"])
    broker.add_middleware(Results(backend=backend))
    dramatiq.set_broker(broker)

    @dramatiq.actor(store_results=True, queue_name="compat")
    def add(a, b):
        return a + b

    message = add.send(2, 3)
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        assert message.get_result(backend=backend, block=True, timeout=10_000) == 5
    finally:
        worker.stop()
        broker.close()
