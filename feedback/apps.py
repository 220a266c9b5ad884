from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Mentions, cases and SLAs"

    def ready(self):
        # Customers and teams tell, without importing feedback, whose region changed and which departments
        # were renamed: the board's rollups and its cached dashboards follow.
        from customers.signals import regions_changed
        from feedback.board import upkeep
        from teams.signals import departments_changed

        regions_changed.connect(upkeep.regions_changed, dispatch_uid="feedback.board.upkeep.regions_changed")
        departments_changed.connect(upkeep.departments_changed,
                                    dispatch_uid="feedback.board.upkeep.departments_changed")
