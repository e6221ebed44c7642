"""Errors of notifications, each with a stable code (docs/API.md). Messages never carry a secret."""

from __future__ import annotations

from controlplane.errors import DomainError


class NotificationError(DomainError):
    code = "NOTIFICATION_CHANNEL_INVALID"


class ChannelNotFound(NotificationError):
    code = "NOTIFICATION_CHANNEL_NOT_FOUND"


class ChannelExists(NotificationError):
    code = "NOTIFICATION_CHANNEL_EXISTS"


class ChannelDisabled(NotificationError):
    code = "NOTIFICATION_CHANNEL_DISABLED"


class ChannelTransitionIllegal(NotificationError):
    code = "NOTIFICATION_CHANNEL_TRANSITION_ILLEGAL"


class DeliveryNotFound(NotificationError):
    code = "NOTIFICATION_DELIVERY_NOT_FOUND"


class DeliveryNotDead(NotificationError):
    code = "NOTIFICATION_DELIVERY_NOT_DEAD"


class NoticeInvalid(NotificationError):
    code = "NOTIFICATION_NOTICE_INVALID"
