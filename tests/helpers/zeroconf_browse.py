"""Finds and resolves DFOS servers with python-zeroconf, an independent DNS-SD
implementation: browses _dfos._tcp.local. for up to argv[1] seconds and prints
one JSON line per server resolved (name, port, addresses, TXT properties).
With "--until-removed", it then waits (up to argv[1] seconds more) for the
servers' goodbye and prints {"removed": name} for each.
Run it only inside a network namespace of the test's own."""

import json
import sys
import threading
import time

from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE_TYPE = "_dfos._tcp.local."


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    zeroconf = Zeroconf()
    found: list[str] = []
    removed: list[str] = []
    lock = threading.Lock()

    def changed(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        with lock:
            if state_change is ServiceStateChange.Added:
                found.append(name)
            elif state_change is ServiceStateChange.Removed:
                removed.append(name)

    ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[changed])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not found:
        time.sleep(0.05)
    for name in list(found):
        info = ServiceInfo(SERVICE_TYPE, name)
        if not info.request(zeroconf, 3000):
            print(json.dumps({"name": name, "resolved": False}), flush=True)
            continue
        properties = {
            key.decode(): (value.decode() if value is not None else None)
            for key, value in info.properties.items()
        }
        print(json.dumps({
            "name": name,
            "resolved": True,
            "server": info.server,
            "port": info.port,
            "addresses": info.parsed_addresses(),
            "properties": properties,
        }), flush=True)
    if "--until-removed" in sys.argv:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(removed) < len(found):
            time.sleep(0.05)
        for name in removed:
            print(json.dumps({"removed": name}), flush=True)
    zeroconf.close()


main()
