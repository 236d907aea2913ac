"""The insight aiohttp web app: shop page and widget, agent console, supervisor dashboard."""
