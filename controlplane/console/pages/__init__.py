"""The console's tenant pages. Every page has the same shape (docs/CONSOLE.md): a function ``(request, scope,
...)`` decorated with ``@page(point)`` that reads through the apps' selectors inside the bound scope and renders a
template extending ``console/page.html``; every button posts to an ``@action(point)`` view that calls the same
``do_*`` writer as the API."""
