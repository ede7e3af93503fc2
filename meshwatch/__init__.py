"""meshwatch: objectives for a service mesh, from rules to remediation."""

__version__ = "0.1.0"
