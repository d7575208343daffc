"""Graph mode: TensorFlow-style define-then-run on shenjing's ops."""

from shenjing.graph import building
from shenjing.graph.graph import Graph, constant, get_default_graph, placeholder
from shenjing.graph.symbolic import Operation, SymbolicTensor, Variable
