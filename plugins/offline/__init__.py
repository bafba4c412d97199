"""The offline engine: Caro's own knowledge of the common terminal tasks, no model needed.

``engine`` matches a request against the intents of the area modules (files,
archives, text, processes, disk, network, git, docker, kubectl, packages,
permissions, cron, logs); ``parse`` reads the request into a ``request.Request``
(parameters and concepts, with the vocabulary of ``words``); ``intent`` holds
what area modules declare.  Nothing here is imported until the first request.
"""
