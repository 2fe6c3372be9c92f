"""A signalbot 2.2.1 bot, unchanged: its command answers "ping <n>" with "pong <n>".

Run as ``python tests/signalbot_ping.py HOST:PORT NUMBER TOKEN``; SIGTERM stops it cleanly (signalbot's
own handler). Used by tests/test_push_clients.py.
"""

import sys

from signalbot import Config, DataMessageContext, DataMessageHandler, SendMessage, SignalBot, regex_triggered


class PingCommand(DataMessageHandler):
    @regex_triggered(r"^ping \d+$")
    async def handle_data_message(self, context: DataMessageContext) -> None:
        await context.send(SendMessage(text="pong " + context.message.text.split()[1]))


def main(service, number, token):
    bot = SignalBot(
        Config(
            signal_service=service,
            phone_number=number,
            auth={"type": "bearer", "token": token},
            connection_mode="http_only",
            retry_interval=1,
        )
    )
    bot.register(PingCommand())
    bot.start()


if __name__ == "__main__":
    main(*sys.argv[1:])
