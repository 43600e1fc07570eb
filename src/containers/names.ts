/**
 * Container names like Docker's namesgenerator: `adjective_surname` (a subset of its lists), with
 * Docker's one exception (never "boring_wozniak"). In: nothing (or a retry count). Out: a name.
 */
import { randomInt } from 'node:crypto';

const LEFT = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful',
  'bold', 'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending',
  'confident', 'cool', 'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager',
  'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive',
  'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted', 'goofy', 'gracious',
  'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring', 'intelligent',
  'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic',
  'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing',
  'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange',
  'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant',
  'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const RIGHT = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'ardinghelli', 'babbage', 'banach', 'bardeen', 'bartik',
  'bassi', 'bell', 'benz', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain',
  'brown', 'carson', 'cerf', 'chandrasekhar', 'chaplygin', 'clarke', 'colden', 'cori', 'cray', 'curie',
  'darwin', 'davinci', 'dijkstra', 'dubinsky', 'easley', 'einstein', 'elbakyan', 'elgamal', 'engelbart',
  'euclid', 'euler', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gates', 'goldberg', 'goldstine',
  'goodall', 'hamilton', 'hawking', 'heisenberg', 'hertz', 'hodgkin', 'hopper', 'hypatia', 'jackson',
  'jang', 'jennings', 'johnson', 'kalam', 'kapitsa', 'keller', 'kepler', 'khorana', 'kilby', 'knuth',
  'kowalevski', 'lalande', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lovelace', 'lumiere', 'margulis',
  'mayer', 'mccarthy', 'mcclintock', 'meitner', 'mendel', 'merkle', 'minsky', 'montalcini', 'moore',
  'morse', 'napier', 'nash', 'neumann', 'newton', 'nobel', 'noether', 'noyce', 'pare', 'pascal', 'pasteur',
  'payne', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind',
  'sammet', 'shamir', 'shannon', 'shockley', 'sinoussi', 'snyder', 'stonebraker', 'swanson', 'tesla',
  'thompson', 'torvalds', 'turing', 'varahamihira', 'villani', 'wescoff', 'wiles', 'williams', 'wilson',
  'wing', 'wozniak', 'wright', 'wu', 'yalow', 'yonath', 'zhukovsky',
];

/** A random name; with retry > 0 a digit is appended, like Docker does after a clash. */
export function generateName(retry = 0): string {
  for (;;) {
    const name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
    if (name === 'boring_wozniak') continue; // Steve Wozniak is not boring
    return retry > 0 ? `${name}${randomInt(10)}` : name;
  }
}

/** Docker's --name characters [a-zA-Z0-9][a-zA-Z0-9_.-]; one-character names are accepted too (docker needs 2). */
export const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
