"""How a run of the fake fails: signal-cli's CommandException, injected faults, Java stack traces."""


class CommandError(Exception):
    """A CommandException: *message* goes to stderr and the process exits with *code*."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def java_trace(exception, message, frames=None):
    frames = frames or [
        "org.asamk.signal.commands.CommandHandler.handleLocalCommand(CommandHandler.java:42)",
        "org.asamk.signal.App.handleLocalCommand(App.java:265)",
        "org.asamk.signal.App.handleCommand(App.java:175)",
        "org.asamk.signal.App.init(App.java:152)",
        "org.asamk.signal.Main.main(Main.java:61)",
    ]
    return f"{exception}: {message}\n" + "\n".join("\tat " + f for f in frames)


class FaultExit(Exception):
    def __init__(self, code, stdout=None, stderr=None):
        super().__init__(code)
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
