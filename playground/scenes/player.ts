/**
 * What the playground's scenes share: playback of a run in processing time (play, pause, step to the next arrival,
 * restart, speed) on animation frames, and range controls bound to a setting kept in the URL.
 */

/** A scene's run: moves processing time and says what happened so far. */
export interface SceneRun<F extends { readonly now: number; readonly done: boolean }> {
  advanceTo(t: number): F;
  nextArrival(): number;
  frame(): F;
}

export const byId = <E extends Element = HTMLElement>(id: string): E => document.getElementById(id) as unknown as E;

export { USERS } from './eventTimeModel.js';

/** An SVG element with attributes. */
export const svgEl = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] => {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

/**
 * Plays runs made by `create`, drawing each frame with `draw`; `#play`, `#step` and `#restart` drive it, and
 * `#scene[data-state]` says `playing`, `paused` or `done`.
 */
export function player<F extends { readonly now: number; readonly done: boolean }>(create: () => SceneRun<F>, draw: (f: F) => void, speed: () => number): { restart(): void; redraw(): void } {
  const scene = byId('scene');
  const playButton = byId<HTMLButtonElement>('play');
  let run = create();
  let playing = true;
  let last: number | undefined;
  const show = (f: F): void => {
    draw(f);
    if (f.done) {
      scene.dataset['state'] = 'done';
      playButton.textContent = 'Replay';
    }
  };
  const setPlaying = (on: boolean): void => {
    playing = on;
    last = undefined;
    playButton.textContent = on ? 'Pause' : 'Play';
    scene.dataset['state'] = run.frame().done ? 'done' : on ? 'playing' : 'paused';
  };
  const restart = (): void => {
    run = create();
    setPlaying(true);
    show(run.frame());
  };
  playButton.addEventListener('click', () => {
    if (run.frame().done) restart();
    else setPlaying(!playing);
  });
  byId('step').addEventListener('click', () => {
    setPlaying(false);
    show(run.advanceTo(run.nextArrival()));
  });
  byId('restart').addEventListener('click', restart);
  const tick = (now: number): void => {
    if (playing && !run.frame().done) {
      const dt = last === undefined ? 0 : now - last;
      last = now;
      show(run.advanceTo(run.frame().now + dt * speed()));
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return { restart, redraw: () => show(run.frame()) };
}

/**
 * Binds the range input `#<name>` (and its `#<name>-value` output) to a numeric setting: its limits, its value, how
 * it reads; `onChange` gets the new value when the user lets go.
 */
export function rangeControl(name: string, limits: readonly [number, number, number], value: number, format: (v: number) => string, onChange: (v: number) => void): void {
  const input = byId<HTMLInputElement>(name);
  const [min, max, step] = limits;
  Object.assign(input, { min: String(min), max: String(max), step: String(step), value: String(value) });
  const out = byId(`${name}-value`);
  const show = (): void => {
    out.textContent = format(Number(input.value));
  };
  show();
  input.addEventListener('input', show);
  input.addEventListener('change', () => onChange(Number(input.value)));
}

/** A duration in ms as the controls show it. */
export const ms = (v: number): string => `${v} ms`;
