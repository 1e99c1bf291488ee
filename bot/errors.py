"""UserError: a mistake a member can make, carrying the friendly reply (with an example) to show."""


class UserError(Exception):
    """Raised for bad input; the service replies with `str(err)` and saves nothing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
