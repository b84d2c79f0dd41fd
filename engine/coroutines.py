"""Running pyHanko's coroutines (sealing, validation, timestamps) from synchronous code."""

import asyncio
import concurrent.futures


def run(coro):
    """Run a coroutine to completion, even when called from a thread with a running loop.

    The result travels outside the task: on Python 3.11, ``asyncio.run`` in the main thread
    formats ``repr(main_task)`` (result included) while restoring the SIGINT handler, which
    for a sealed 20 MB PDF means building an 80 MB string, twice, on every call.
    """
    box = []

    async def main():
        box.append(await coro)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, main()).result()
    return box[0]
