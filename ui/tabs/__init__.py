"""The page's tabs: Studio (a package of widget groups), History and Explore."""
