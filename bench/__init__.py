"""The benchmark: receiver throughput, delivery latency, memory, planning cost, GitLab calls per delivery."""
