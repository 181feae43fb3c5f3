// The page's one status line, shared by the page and its recognition sources. Work that runs in the
// background (the models loading) reports with `update`, which only replaces its own last message:
// an error or anything the user did since stays on screen.
let shown = 0; // the number of the message on screen
let count = 0;

export function say(message, { error = false } = {}) {
  const line = document.getElementById("status");
  line.textContent = message;
  line.classList.toggle("error", error);
  shown = ++count;
  return shown;
}

// A reporter for one piece of background work: its first message shows only if `after` (a message
// number) is still on screen, and each later one only if its own previous message still is.
export function reporter(after = shown) {
  let mine = after;
  return (message) => {
    if (mine !== shown) return;
    mine = say(message);
  };
}
