from django import template

register = template.Library()


@register.filter
def words(key: str) -> str:
    """`cost_transactions_added` → `cost transactions added`."""
    return str(key).replace("_", " ")
