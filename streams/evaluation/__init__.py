"""Offline evaluation of the failure model: NAB and the labelled simulator."""
