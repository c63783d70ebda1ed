"""A real Spark standalone cluster on this machine, from the pyspark package: a master
and N workers (one core each), bound to 127.0.0.1, each process in a tree this helper
owns and stops (also on failure). Used by test_spark.py and benches/spark.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every process below `pid` (through /proc)."""
    found = []
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        by_parent.setdefault(parent, []).append(int(entry))
    stack = [pid]
    while stack:
        for child in by_parent.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_tree(process: subprocess.Popen) -> list[int]:
    """SIGKILLs a process and everything below it; returns the pids killed."""
    pids = [process.pid, *children(process.pid)]
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    return pids


class Cluster:
    """`with Cluster(workers=2) as cluster:` starts the master and the workers and waits
    until every worker is registered; leaving the block stops them all."""

    def __init__(self, workers: int = 2, worker_memory: str = "1g"):
        import pyspark

        self.home = os.path.dirname(pyspark.__file__)
        self.workers_wanted = workers
        self.worker_memory = worker_memory
        self.scratch = tempfile.mkdtemp(prefix="vcfq-spark-")
        self.master: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.started: list[int] = []
        self.port = free_port()
        self.ui_port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"

    def _environment(self) -> dict:
        env = dict(os.environ)
        env.update(
            SPARK_HOME=self.home,
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOCAL_HOSTNAME="127.0.0.1",
            SPARK_MASTER_HOST="127.0.0.1",
            SPARK_LOG_DIR=os.path.join(self.scratch, "logs"),
            SPARK_WORKER_DIR=os.path.join(self.scratch, "work"),
            PYSPARK_PYTHON=sys.executable,
            # The daemons' temporary files (native libraries, perf data) in the scratch
            # directory, removed at stop.
            SPARK_DAEMON_JAVA_OPTS=self._java_options(),
        )
        return env

    def _java_options(self) -> str:
        return f"-Djava.io.tmpdir={self.scratch} -XX:-UsePerfData"

    def _start(self, name: str, *arguments: str) -> subprocess.Popen:
        log = open(os.path.join(self.scratch, f"{name}.log"), "wb")
        process = subprocess.Popen(
            [os.path.join(self.home, "bin", "spark-class"), *arguments],
            env=self._environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.started.append(process.pid)
        return process

    def log(self, name: str) -> str:
        try:
            with open(os.path.join(self.scratch, f"{name}.log"), errors="replace") as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as reply:
            return json.load(reply)

    def start(self) -> "Cluster":
        os.makedirs(os.path.join(self.scratch, "work"), exist_ok=True)
        self.master = self._start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--webui-port", str(self.ui_port),
        )
        for i in range(self.workers_wanted):
            self.workers.append(
                self._start(
                    f"worker{i}",
                    "org.apache.spark.deploy.worker.Worker",
                    self.url,
                    "--host", "127.0.0.1",
                    "--cores", "1",
                    "--memory", self.worker_memory,
                    "--webui-port", str(free_port()),
                    "--work-dir", os.path.join(self.scratch, "work"),
                )
            )
        deadline = time.monotonic() + 180
        while True:
            try:
                workers = [w for w in self.state().get("workers", []) if w.get("state") == "ALIVE"]
                if len(workers) >= self.workers_wanted:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.master.poll() is not None:
                logs = "\n".join(self.log(n) for n in ["master", *[f"worker{i}" for i in range(len(self.workers))]])
                self.stop()
                raise RuntimeError(f"the Spark cluster did not start:\n{logs}")
            time.sleep(0.5)

    def kill_worker(self, index: int) -> list[int]:
        """SIGKILLs a worker with its executor and Python workers."""
        return kill_tree(self.workers[index])

    def stop(self) -> list[int]:
        """Stops every process started, with their children; returns the pids."""
        pids = []
        for process in [*self.workers, *([self.master] if self.master else [])]:
            pids.extend(kill_tree(process))
        shutil.rmtree(self.scratch, ignore_errors=True)
        return pids

    def session(self, app: str = "vcfq-test", **conf: str):
        """A SparkSession on this cluster: one executor a worker, UI off, 127.0.0.1."""
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master(self.url)
            .appName(app)
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executor.cores", "1")
            .config("spark.cores.max", str(self.workers_wanted))
            .config("spark.executor.memory", "512m")
            .config("spark.pyspark.python", sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
            # Shuffle and block files, and every JVM's temporary files, in the scratch
            # directory (removed at stop), not in /tmp.
            .config("spark.local.dir", os.path.join(self.scratch, "local"))
            .config("spark.driver.extraJavaOptions", self._java_options())
            .config("spark.executor.extraJavaOptions", self._java_options())
        )
        for key, value in conf.items():
            builder = builder.config(key, value)
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        os.environ["PYSPARK_PYTHON"] = sys.executable
        spark = builder.getOrCreate()
        deadline = time.monotonic() + 120
        while executor_count(spark) < self.workers_wanted:
            if time.monotonic() > deadline:
                raise RuntimeError("the executors did not register with the driver")
            time.sleep(0.5)
        return spark

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def executor_count(spark) -> int:
    """Executors registered with the driver (the driver itself not counted)."""
    return len(spark.sparkContext._jsc.sc().statusTracker().getExecutorInfos()) - 1


def stop_session(spark) -> None:
    """Stops the session and the driver's JVM gateway started for it."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    spark.stop()
    if gateway is not None:
        try:
            gateway.shutdown()
        finally:
            process = getattr(gateway, "proc", None)
            if process is not None:
                process.kill()
                process.wait(timeout=30)
        SparkContext._gateway = None
        SparkContext._jvm = None
