/** The seed's example: a table of fruits and their cost, printed pandas-style. */
import { DataFrame } from './frame.js';

const data = {
  name: ['apple', 'banana', 'orange'],
  cost: [10, 5, 6],
};

const df = new DataFrame(data);
console.log(df.toString());
