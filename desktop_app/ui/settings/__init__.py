"""The settings dialog (File > Settings…): one section per subject, each applying what is changed at once.

`dialog.SettingsDialog` lists the sections (`sections.ALL_SECTIONS`); each section is a `section.Section`
built on a `context.SettingsContext`, and binds its widgets to typed settings through `binding.Bindings`,
so a change made elsewhere (the CLI, another window) shows up in it too.
"""
