from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Mentions, cases and SLAs"

    def ready(self):
        # Customers tells, without importing feedback, whose region changed: the board's rollups follow.
        from customers.signals import regions_changed
        from feedback.board import upkeep

        regions_changed.connect(upkeep.regions_changed, dispatch_uid="feedback.board.upkeep.regions_changed")
