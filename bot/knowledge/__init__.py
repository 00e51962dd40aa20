"""The FAQ knowledge base: answers with their source and date, kept in faq.yml so admins can edit them.

Use `bot.knowledge.faq` (load_knowledge_base, render_answer, ...). Imported by the Rasa action server
(Python 3.10) as well as the bot service: depend on PyYAML only. Nothing is imported here, so that
`python -m bot.knowledge.faq` runs the module cleanly.
"""
