"""What safety is made of, loaded with the content: helplines by country, the reviewed crisis
phrases and the matcher that reads a text for them, and the words of /support and a crisis
reply. The safety room (bot/safety/) says where those words may go."""
