"""`meshwatch demo`: a small local mesh behind a real Envoy, with a scripted incident."""
