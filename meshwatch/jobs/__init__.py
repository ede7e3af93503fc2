"""Background work: the evaluation cycle, notifications, retention; APScheduler wiring."""
