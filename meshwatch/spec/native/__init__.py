"""The native spec format, `apiVersion: meshwatch/v1`: models, and their mapping to SLOs."""
