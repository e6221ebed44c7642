"""SeaTunnel Zeta clusters registered with the control plane (issue 4)."""
