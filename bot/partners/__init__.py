"""The partners room: joining (/start, pairing links), private chats, leaving, and each
partner's side."""
