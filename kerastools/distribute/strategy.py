"""`multi_worker_strategy`: a `MultiWorkerMirroredStrategy` under which Keras's `fit` works."""

import json
import math
import os

import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2

from kerastools.distribute import _keras_fixes

# Jobs whose tasks take part in the all-reduce of MultiWorkerMirroredStrategy
# ("evaluator" runs apart and is allowed in the cluster, as TensorFlow allows it).
_JOBS = ("chief", "worker", "evaluator")
DEFAULT_STARTUP_TIMEOUT = 300.0
# `CommunicationOptions` is a factory; this is the class of what it returns.
_OPTIONS_TYPE = type(tf.distribute.experimental.CommunicationOptions())
DEFAULT_COLLECTIVE_TIMEOUT = 300.0


def _config_error(problem, raw):
    shown = raw if len(raw) <= 500 else raw[:500] + "..."
    return ValueError(f"Environment variable `TF_CONFIG` is malformed: {problem}. Received: TF_CONFIG={shown!r}")


def _check_address(address, job, raw):
    if not isinstance(address, str) or address.count(":") < 1:
        raise _config_error(f"cluster[{job!r}] holds {address!r}, not a 'host:port' string", raw)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _config_error(f"cluster[{job!r}] holds {address!r}, whose port is not an integer in [1, 65535]", raw)


def parse_tf_config(raw):
    """Check a ``TF_CONFIG`` JSON string as `MultiWorkerMirroredStrategy` reads it.

    `TFConfigClusterResolver` accepts many malformed values and only fails
    later (or waits forever for a worker that cannot exist), so the value is
    checked first: a JSON object with a ``cluster`` mapping job names
    (``chief``, ``worker``, ``evaluator``) to non-empty lists of distinct
    ``"host:port"`` addresses, at most one ``chief``, and a ``task`` whose
    ``type`` is one of those jobs and whose ``index`` is a valid position in it.

    Args:
        raw: the value of ``TF_CONFIG``.

    Returns:
        The parsed dictionary.

    Raises:
        ValueError: naming what is wrong and showing the value.

    Example:

    On every worker of a cluster (each with its ``TF_CONFIG``); not run as a
    doctest, since it waits for the other workers: `tests/distribute` runs it
    on local worker processes.

    >>> config = kt.distribute.parse_tf_config(
    ...     '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},'
    ...     ' "task": {"type": "worker", "index": 1}}')
    >>> config["task"]
    {'type': 'worker', 'index': 1}
    """
    if not isinstance(raw, str):
        raise TypeError(f"`TF_CONFIG` must be a JSON string. Received: TF_CONFIG={raw!r}")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as err:
        raise _config_error(f"it is not JSON ({err})", raw) from None
    if not isinstance(config, dict):
        raise _config_error("it is not a JSON object", raw)
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise _config_error("'cluster' must be a non-empty object mapping job names to address lists", raw)
    seen = set()
    for job, addresses in cluster.items():
        if job not in _JOBS:
            raise _config_error(f"unknown job {job!r} in 'cluster' (expected one of {list(_JOBS)})", raw)
        if not isinstance(addresses, list) or not addresses:
            raise _config_error(f"cluster[{job!r}] must be a non-empty list of 'host:port' strings", raw)
        for address in addresses:
            _check_address(address, job, raw)
            if address in seen:
                raise _config_error(f"the address {address!r} appears twice in 'cluster'", raw)
            seen.add(address)
    if len(cluster.get("chief", [])) > 1:
        raise _config_error("there can be at most one 'chief'", raw)
    if not isinstance(task, dict):
        raise _config_error("'task' must be an object with 'type' and 'index'", raw)
    kind, index = task.get("type"), task.get("index")
    if kind not in cluster:
        raise _config_error(f"task type {kind!r} is not a job of 'cluster' ({sorted(cluster)})", raw)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise _config_error(f"task index {index!r} is not in [0, {len(cluster[kind])}) for job {kind!r}", raw)
    return config


def _check_timeout(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive number of seconds or None. Received: {name}={value!r}")
    return float(value)


def _configure_coordination(cluster_resolver, startup_timeout):
    """Set TensorFlow's coordination service up as `MultiWorkerMirroredStrategy`
    would, plus a registration timeout.

    With ``TF_CONFIG`` naming several tasks, the strategy's constructor
    registers every task with a coordination service led by the chief (or
    worker 0) and waits, by default for ever, until all have registered. The
    same configuration is made here first (the strategy keeps a configuration
    that exists), with ``cluster_register_timeout_in_ms`` bounding that wait.
    """
    cluster_spec = cluster_resolver.cluster_spec()
    jobs = [job for job in ("chief", "worker") if job in cluster_spec.jobs]
    if not jobs or cluster_resolver.task_type not in jobs or context.context().coordination_service is not None:
        return
    leader = "chief" if "chief" in jobs else "worker"
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=f"/job:{leader}/replica:0/task:0",
        coordinated_jobs=[
            coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster_spec.num_tasks(job)) for job in jobs
        ],
        cluster_register_timeout_in_ms=0 if startup_timeout is None else max(1000, int(startup_timeout * 1000)),
    )
    # The timeout bounds the registration only when it is a barrier.
    context.context().coordination_service.cluster_register_with_barrier = startup_timeout is not None


def multi_worker_strategy(cluster_resolver=None, communication_options=None, *, startup_timeout=DEFAULT_STARTUP_TIMEOUT, collective_timeout=DEFAULT_COLLECTIVE_TIMEOUT):
    """A `tf.distribute.MultiWorkerMirroredStrategy` under which Keras's `fit` works.

    Call it once per process, before building the model, on every worker with
    the same script and that worker's ``TF_CONFIG`` (or `cluster_resolver`);
    then the script is plain Keras::

        strategy = kt.distribute.multi_worker_strategy()
        with strategy.scope():
            model = ...
            model.compile(...)
        model.fit(dataset, epochs=...)

    Synchronous data parallelism: every step, each worker computes the
    gradient of its share of the global batch, the gradients are all-reduced
    (summed, with Keras scaling each replica's loss by ``1 / replicas``) and
    every worker applies the same update, so the weights stay identical.

    Once the strategy exists, the Keras work-arounds this Keras version needs
    are installed for the process (see `kerastools.distribute.WORK_AROUNDS`);
    they act only under collective all-reduce across workers, so other
    strategies and single-process training are unchanged.

    Args:
        cluster_resolver: passed on to `MultiWorkerMirroredStrategy`; `None`
            reads ``TF_CONFIG``, which is then checked by `parse_tf_config`
            (without ``TF_CONFIG`` the strategy is a single local worker).
            Defaults to `None`.
        communication_options: a `tf.distribute.experimental.CommunicationOptions`,
            passed on. When it sets no ``timeout_seconds``, `collective_timeout`
            is used. Defaults to `None`.
        startup_timeout: seconds to wait for every worker to join before
            raising `RuntimeError`; `None` waits forever (TensorFlow's
            default). Defaults to `300.0`.
        collective_timeout: seconds any one all-reduce may wait for the other
            workers (a worker that died mid-step) before it fails with
            `tf.errors.DeadlineExceededError`; `None` waits forever. It must
            exceed the longest time one worker can run ahead of another: the
            chief writing a checkpoint, a first step's tracing. Defaults to
            `300.0`.

    Returns:
        The `tf.distribute.MultiWorkerMirroredStrategy`.

    Raises:
        ValueError: a malformed ``TF_CONFIG`` or a bad timeout.
        RuntimeError: not every worker joined within `startup_timeout`.

    Example:

    >>> strategy = kt.distribute.multi_worker_strategy()  # doctest: +SKIP
    >>> strategy.num_replicas_in_sync  # doctest: +SKIP
    2

    Note:
        TensorFlow allows one collective configuration per process, so this
        is called once, at start-up, as `MultiWorkerMirroredStrategy` itself.
    """
    startup_timeout = _check_timeout("startup_timeout", startup_timeout)
    collective_timeout = _check_timeout("collective_timeout", collective_timeout)
    if cluster_resolver is None and os.environ.get("TF_CONFIG"):
        parse_tf_config(os.environ["TF_CONFIG"])
    if communication_options is None:
        communication_options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
    elif not isinstance(communication_options, _OPTIONS_TYPE):
        raise TypeError(
            "Argument `communication_options` must be a `tf.distribute.experimental.CommunicationOptions`. "
            f"Received: communication_options={communication_options!r}"
        )
    elif communication_options.timeout_seconds is None and collective_timeout is not None:
        communication_options = tf.distribute.experimental.CommunicationOptions(
            bytes_per_pack=communication_options.bytes_per_pack,
            timeout_seconds=collective_timeout,
            implementation=communication_options.implementation,
        )
    if cluster_resolver is None:
        cluster_resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    _configure_coordination(cluster_resolver, startup_timeout)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=cluster_resolver, communication_options=communication_options
        )
    except tf.errors.DeadlineExceededError as err:
        raise RuntimeError(
            f"Not every worker joined within `startup_timeout`={startup_timeout} seconds: a worker "
            "is not started, or not reachable at its TF_CONFIG address "
            f"(TF_CONFIG={os.environ.get('TF_CONFIG')!r}). ({err})"
        ) from None
    # After the strategy: the probes must not start TensorFlow's eager context
    # before the collective ops are configured (they use NumPy, but stay safe).
    _keras_fixes.install()
    return strategy
