"""Benchmarks of models and hosts: suites, a streaming runner, statistics, stored runs and
regression verdicts (issue 4; definitions in shared/docs/bench-facts.md)."""
