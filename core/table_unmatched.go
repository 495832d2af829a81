package atrion

// UnmatchedRoute is the one route ID that adapters use for every request
// that matches no route of its router or server (a path no route serves,
// a method no service registered), whatever its method and path, so that
// unknown paths and method names can never grow the route table.
const UnmatchedRoute = "(unmatched)"
