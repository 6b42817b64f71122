from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "students"

    def ready(self):
        from students import services
        from studio.emails import register_secret_link

        # The email log keeps sign-in emails without their token; each delivery (and resend) signs a fresh one.
        register_secret_link(
            "sign_in_link", current=services.sign_in_link_secret, renew=services.check_sign_in_link_resend
        )
