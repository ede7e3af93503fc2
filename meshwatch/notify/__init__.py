"""Notifications out: state changes and actions, written to an outbox, then delivered."""
