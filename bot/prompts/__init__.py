"""The prompts room: a prompt now (/tip), the topics in rotation, and home or apart."""
