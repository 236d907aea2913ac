"""The demo shop page that embeds the chat widget."""
