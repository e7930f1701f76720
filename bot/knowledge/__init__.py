"""The knowledge base: answers, facts with sources, and branch offices."""
