"""Assignments: the relation between agents and numbers, kept in one place both sides use.

``models`` is the table (agents and numbers read it); ``service`` holds the rules that need
both an agent and a number, so the agents and numbers packages never import each other.
"""
