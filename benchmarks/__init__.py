"""reqfulfill's benchmarks: ``python -m benchmarks`` (or ``make bench``) prints one table."""
