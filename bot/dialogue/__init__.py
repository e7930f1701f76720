"""Dialogue: conversation state, the policy table and the engine."""
