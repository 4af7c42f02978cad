"""Start several `graphdock serve` replicas as one benchmark target (one process group).

    python bench/replicas.py --ports 8001,8002 -- /path/graphdock serve --config … --port {port} …

Each replica gets the command with `{port}` replaced by its port. The benchmark's client spreads
its connections over the replicas' ports (round robin), as a load balancer would; SIGTERM stops
them all.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from types import FrameType


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True, help="comma-separated, one replica per port")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"]
    replicas = [
        subprocess.Popen([c.replace("{port}", port) for c in command]) for port in args.ports.split(",")
    ]

    def stop(signum: int, _frame: FrameType | None) -> None:
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [replica.wait() for replica in replicas]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
