"""Benchmark tasks: exams, HealthBench, notes, AgentClinic, department triage."""
