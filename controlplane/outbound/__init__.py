"""Outbound connections of the control plane to clusters: the target policy and a transport that keeps to it."""
