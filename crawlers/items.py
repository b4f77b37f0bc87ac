"""The item every spider yields: the one call record defined in `pipeline.record`.

Scrapy handles dataclass items natively (itemadapter), so there is no separate scrapy.Item
class to keep in sync with the database and the exports.
"""

from fundradar.pipeline.record import Call

__all__ = ["Call"]
